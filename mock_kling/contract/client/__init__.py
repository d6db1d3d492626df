"""The suite's side of the wire: the target (where, who, which prefix and routes), the transport
and its meter (the caps on creates), the three Kling calls, polling, and the local server that
receives callbacks."""
