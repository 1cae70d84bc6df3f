"""Delivery: the outbox rows sent within each platform's limits.

`claims` moves rows through their states in the store, `pacer` keeps a channel to its rate,
`worker` drains one channel, `process` runs the workers in a child process, and `service`
chooses between in-process workers and that child for `thidua run`.
"""
