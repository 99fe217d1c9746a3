"""`make bench`: Lex's latency, throughput, storage and memory against a stand-in Groq server.

Everything runs over real HTTP on loopback: the stand-in (`bench.standin`), the service as
`python -m api.serve` (as `make run` starts it), and `langgraph dev` serving the same graph. The
floor every latency is compared with is the same model calls made directly with ChatGroq in the
same run.
"""
