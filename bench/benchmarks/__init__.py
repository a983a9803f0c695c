"""Each module here is one benchmark: a `run(ctx) -> list[harness.Row]` function and an
ORDER number (lower runs first). bench.py discovers them; see bench/README.md."""
