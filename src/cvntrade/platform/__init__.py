"""`cvntrade up`: the platform's parts (paper engine, exporter + evaluator, console) as
supervised child processes. `supervisor` is the pure state machine (part states, restart policy,
backoff); `parts` builds the command lines; `processes`, `runner`, `display` and `login` are the
I/O at the edges."""
