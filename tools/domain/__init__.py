"""The dealership domain behind the tools: directory, opening hours, weather, bookings."""
