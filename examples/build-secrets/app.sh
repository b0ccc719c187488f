#!/bin/sh
# The demo app: prints what its build saw (sizes only) and which runtime
# secrets it has in its environment (names only).
cat /app/build-info
for name in DATABASE_URL API_KEY; do
  eval "value=\${$name:-}"
  if [ -n "$value" ]; then echo "runtime: $name is set"; else echo "runtime: $name is not set"; fi
done
