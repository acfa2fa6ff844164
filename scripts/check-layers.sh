#!/usr/bin/env bash
# Checks that #include lines point down the layer graph of docs/ARCHITECTURE.md:
#   app -> chat -> ws -> codec -> base;  app -> http -> codec -> base;  app -> net -> base;
#   app -> store -> base;  app -> cluster -> net -> base
# Prints every violation and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [base]="base"
  [codec]="codec base"
  [net]="net base"
  [http]="http codec base"
  [ws]="ws codec base"
  [chat]="chat ws codec base"
  [store]="store base"
  [cluster]="cluster net base"
  [app]="app chat ws http net store cluster codec base"
)

status=0
for layer in "${!allowed[@]}"; do
  for file in src/"$layer"/*; do
    [ -f "$file" ] || continue
    while IFS= read -r dep; do
      case " ${allowed[$layer]} " in
        *" $dep "*) ;;
        *) echo "$file includes $dep/: $layer may include only ${allowed[$layer]}"; status=1 ;;
      esac
    done < <(sed -n 's|^#include "\([a-z]*\)/.*|\1|p' "$file")
  done
done
[ $status -eq 0 ] && echo "layers: every include points down"
exit $status
