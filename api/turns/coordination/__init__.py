"""Who runs which turn, and how its events reach every follower: in this process or across many.

`base` is the interface the routes and the executor use; `local` keeps running turns in memory
(one process, the default); `redis` shares them through Redis, so any replica can rejoin, cancel
or queue behind a turn another replica runs. The composition root picks one from `REDIS_URL`.
"""
