// Tool cards: one card per tool call, shown while the tool runs and then filled with its result.
// The `output` of each tool is the card payload of the wire contract (docs/wire-contract.md):
// strings for weather and dealership, objects for availability and booking.

/** Creates an element: el("p", { class: "x" }, "text", childNode). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const arg = (args, name, fallback = "…") => (args && args[name]) || fallback;

// Per tool: a title, an icon, and what the card says while the call runs.
const TOOLS = {
  get_weather: {
    title: "Weather",
    icon: "☀",
    running: (a) => `Checking the weather in ${arg(a, "city")}`,
  },
  get_dealership_address: {
    title: "Dealership",
    icon: "⌂",
    running: (a) => `Looking up the ${arg(a, "dealership_id")} dealership`,
  },
  check_appointment_availability: {
    title: "Free test-drive times",
    icon: "◷",
    running: (a) => `Checking free times at ${arg(a, "dealership_id")} on ${arg(a, "date")}`,
  },
  schedule_appointment: {
    title: "Test-drive booking",
    icon: "✓",
    running: (a) =>
      `Booking a ${arg(a, "car_model", "test drive")} at ${arg(a, "dealership_id")} ` +
      `on ${arg(a, "date")} at ${arg(a, "time")}`,
  },
  list_dealerships: {
    title: "Dealerships",
    icon: "⌂",
    running: (a) => (a && a.city ? `Finding dealerships in ${a.city}` : "Listing our dealerships"),
  },
  list_my_appointments: {
    title: "Your test drives",
    icon: "☰",
    running: () => "Looking up your bookings",
  },
  cancel_appointment: {
    title: "Cancellation",
    icon: "✕",
    running: (a) => `Cancelling booking ${arg(a, "confirmation_id")}`,
  },
};

function describeTool(name) {
  return TOOLS[name] ?? { title: name, icon: "⚙", running: () => `Running ${name}` };
}

/**
 * A card for a tool call that has started.
 * @param {{id: string, name: string, args: object}} call
 */
export function createToolCard(call) {
  const tool = describeTool(call.name);
  const state = el("p", { class: "card-state" }, `${tool.running(call.args ?? {})}…`);
  const card = el(
    "section",
    {
      class: "card card-running",
      "data-tool": call.name,
      "data-call-id": call.id ?? "",
      "aria-label": tool.title,
      "aria-busy": "true",
    },
    el(
      "header",
      { class: "card-header" },
      el("span", { class: "card-icon", "aria-hidden": "true" }, tool.icon),
      el("h3", { class: "card-title" }, tool.title),
    ),
    state,
    el("div", { class: "card-body" }),
  );
  return card;
}

/**
 * Fills a card with its tool's result.
 * @param {HTMLElement} card From createToolCard.
 * @param {{name: string, output: any, status?: string, error?: string}} result
 * @param {{onSlot?: (request: string) => void}} actions What the card's buttons do.
 */
export function completeToolCard(card, result, actions = {}) {
  const failed = result.status === "error";
  card.classList.remove("card-running");
  card.classList.add(failed ? "card-error" : "card-done");
  card.removeAttribute("aria-busy");
  const body = card.querySelector(".card-body");
  body.replaceChildren(...renderOutput(result, failed, actions));
  card.querySelector(".card-state").textContent = failed ? "Did not work" : "Done";
}

function renderOutput(result, failed, actions) {
  const output = result.output ?? result.error ?? "";
  switch (result.name) {
    case "get_weather":
      return failed ? plainError(result) : weather(String(output));
    case "get_dealership_address":
      return failed ? plainError(result) : dealership(String(output));
    case "check_appointment_availability":
      return availability(output, result, actions);
    case "schedule_appointment":
      return booking(output, failed);
    case "list_dealerships":
      return failed ? plainError(result) : dealershipList(output);
    case "list_my_appointments":
      return failed ? plainError(result) : appointmentList(output);
    default:
      return failed ? plainError(result) : generic(output);
  }
}

// Errors in plain words: the server's error text is already written for a customer.
function plainError(result) {
  let text = result.error;
  if (!text) text = typeof result.output === "string" ? result.output : result.output?.message;
  return [el("p", { class: "card-error-text" }, text || "Sorry, that did not work.")];
}

const CONDITIONS = [
  "thunderstorm",
  "overcast",
  "sunny",
  "cloudy",
  "rainy",
  "snowy",
  "clear",
  "foggy",
  "windy",
  "hazy",
];

function weather(summary) {
  const temperature = summary.match(/(-?\d+)°C/)?.[1];
  const city = summary.match(/in ([A-Za-z .'-]+?) is\b/)?.[1];
  const condition = CONDITIONS.find((word) => summary.toLowerCase().includes(word));
  const headline = el("p", { class: "weather-headline" });
  if (temperature) headline.append(el("span", { class: "weather-temp" }, `${temperature}°C`));
  if (condition || city) {
    const what = condition ? condition.charAt(0).toUpperCase() + condition.slice(1) : "";
    headline.append(
      el("span", { class: "weather-where" }, [what, city].filter(Boolean).join(" in ")),
    );
  }
  return [headline, el("p", { class: "card-text" }, summary)];
}

// "SuperCar Miami, 1200 Biscayne Blvd, Miami, FL 33132. Phone: +1 (305) 555-0142. Hours: ..."
function dealership(text) {
  const match = text.match(/^([^,]+),\s*(.*?)\.\s*Phone:\s*([+\d\s()-]+?)\.?\s*Hours:\s*(.*)$/);
  if (!match) return [el("p", { class: "card-text" }, text)];
  const [, name, address, phone, hours] = match;
  const dial = phone.replace(/[^\d+]/g, "");
  return [
    el("p", { class: "card-name" }, name),
    el(
      "dl",
      { class: "card-facts" },
      el("dt", {}, "Address"),
      el("dd", {}, address),
      el("dt", {}, "Phone"),
      el("dd", {}, el("a", { href: `tel:${dial}` }, phone.trim())),
      el("dt", {}, "Hours"),
      el("dd", {}, hours.replace(/\.$/, "")),
    ),
  ];
}

const titleCase = (slug) =>
  slug
    .split("-")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");

/** The booking request a slot button fills in, in words any model understands. */
export function bookingRequest(dealershipId, date, time) {
  const where = dealershipId ? ` at SuperCar ${titleCase(dealershipId)}` : "";
  const when = date ? ` on ${date}` : "";
  return `Please book a test drive${where}${when} at ${time}.`;
}

function availability(output, result, actions) {
  const times = Array.isArray(output) ? output : (output?.availableTimes ?? []);
  const dealershipId = output?.dealership_id ?? "";
  const date = output?.date ?? "";
  if (times.length === 0) {
    const why = result.error || output?.error || output?.note;
    const nodes = [el("p", { class: "card-text" }, `No free times${date ? ` on ${date}` : ""}.`)];
    if (why) nodes.push(el("p", { class: "card-error-text" }, why));
    return nodes;
  }
  const label = `Free times${date ? ` on ${date}` : ""}. Pick one to fill in a booking request.`;
  const slots = el("div", { class: "slots", role: "group", "aria-label": label });
  for (const time of times) {
    const request = bookingRequest(dealershipId, date, time);
    slots.append(
      el(
        "button",
        {
          type: "button",
          class: "slot",
          "aria-label": `Book ${time}${date ? ` on ${date}` : ""}`,
          onclick: () => actions.onSlot?.(request),
        },
        time,
      ),
    );
  }
  return [el("p", { class: "card-text" }, label), slots];
}

function booking(output, failed) {
  const confirmed = !failed && output?.status !== "failed" && Boolean(output?.confirmation_id);
  const message = output?.message ?? (typeof output === "string" ? output : "");
  const nodes = [
    el(
      "p",
      { class: confirmed ? "booking-ok" : "booking-failed" },
      confirmed ? "Booked" : "Not booked",
    ),
    el("p", { class: confirmed ? "card-text" : "card-error-text" }, message),
  ];
  if (confirmed) {
    nodes.push(
      el(
        "dl",
        { class: "card-facts" },
        el("dt", {}, "Confirmation"),
        el("dd", { class: "confirmation-id" }, output.confirmation_id),
        el("dt", {}, "When"),
        el("dd", {}, `${output.date} at ${output.time}`),
        el("dt", {}, "Car"),
        el("dd", {}, output.model ?? ""),
        el("dt", {}, "Where"),
        el("dd", {}, output.dealership_name ?? output.dealership_id ?? ""),
      ),
    );
  }
  return nodes;
}

function dealershipList(output) {
  const dealerships = Array.isArray(output) ? output : (output?.dealerships ?? []);
  if (dealerships.length === 0) return [el("p", { class: "card-text" }, "No dealerships found.")];
  const list = el("ul", { class: "card-list" });
  for (const d of dealerships) {
    list.append(
      el("li", {}, el("strong", {}, d.name ?? d.id), ` ${d.address ?? ""} ${d.phone ?? ""}`),
    );
  }
  return [list];
}

function appointmentList(output) {
  const appointments = Array.isArray(output) ? output : (output?.appointments ?? []);
  if (appointments.length === 0) return [el("p", { class: "card-text" }, "No test drives booked.")];
  const list = el("ul", { class: "card-list" });
  for (const a of appointments) {
    const where = a.dealership_name ?? a.dealership_id;
    list.append(
      el(
        "li",
        {},
        el("strong", {}, `${a.date} ${a.time}`),
        ` ${a.model} at ${where} (${a.confirmation_id}, ${a.status})`,
      ),
    );
  }
  return [list];
}

function generic(output) {
  if (typeof output === "string") return [el("p", { class: "card-text" }, output)];
  if (output && typeof output.message === "string")
    return [el("p", { class: "card-text" }, output.message)];
  return [el("pre", { class: "card-json" }, JSON.stringify(output, null, 2))];
}
