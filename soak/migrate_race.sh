#!/bin/sh
# Two `chronicle migrate` at once on a new file, 20 rounds; prints how many rounds had a failure.
#   sh soak/migrate_race.sh            (PY=.venv/bin/python by default; run from the repository)
PY=${PY:-.venv/bin/python}
fail=0
for i in $(seq 1 20); do
  d=$(mktemp -d)
  env -u CHRONICLE_DATABASE "$PY" -m bot.cli migrate --database "$d/m.db" > "$d/a" 2>&1 & a=$!
  env -u CHRONICLE_DATABASE "$PY" -m bot.cli migrate --database "$d/m.db" > "$d/b" 2>&1 & b=$!
  wait $a; ra=$?; wait $b; rb=$?
  if [ $ra -ne 0 ] || [ $rb -ne 0 ]; then fail=$((fail+1)); cat "$d/a" "$d/b"; fi
  rm -rf "$d"
done
echo "rounds=20 failed=$fail"
