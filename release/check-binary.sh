#!/usr/bin/env sh
# Check that a built wego runs where users are: no dynamic OpenSSL (it is compiled in), and on
# Linux no glibc symbol newer than the oldest glibc we support. Used by the release workflow on
# each runner and by tests/portable/check.sh.
#   release/check-binary.sh BINARY [MAX_GLIBC]     (MAX_GLIBC default 2.17; ignored for macOS)
# Prints one line per finding; exits non-zero when the binary would not run somewhere it should.
set -eu
bin=$1 max=${2:-2.17}
[ -f "$bin" ] || { echo "check-binary: no file $bin" >&2; exit 2; }
fail=0
bad() { echo "check-binary: $*" >&2; fail=1; }

case "$(head -c 4 "$bin" | od -An -tx1 | tr -d ' \n')" in
  7f454c46) # ELF
    needed=$(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }')
    [ -n "$needed" ] || bad "objdump found no NEEDED entries in $bin (not a dynamic executable?)"
    echo "$needed" | grep -qE '^lib(ssl|crypto)\.so' && bad "$bin links OpenSSL dynamically: $(echo "$needed" | tr '\n' ' ')"
    # ldd too (it reads what the loader would load), where it can read this architecture.
    if out=$(ldd "$bin" 2>/dev/null); then
      echo "$out" | grep -qE 'lib(ssl|crypto)\.so' && bad "ldd shows OpenSSL for $bin"
    fi
    newest=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n -u | tail -n 1)
    [ -n "$newest" ] || bad "objdump -T found no GLIBC_ symbol versions in $bin"
    if [ -n "$newest" ]; then
      top=$(printf '%s\n%s\n' "$newest" "$max" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
      if [ "$top" = "$max" ]; then
        echo "check-binary: $bin needs glibc $newest at most (limit $max), no dynamic OpenSSL"
      else
        bad "$bin needs glibc $newest, newer than $max: $(objdump -T "$bin" | grep "GLIBC_$newest" | awk '{ print $NF }' | sort -u | tr '\n' ' ')"
      fi
    fi
    ;;
  cffaedfe|cefaedfe|cafebabe) # Mach-O (64-bit, 32-bit, universal)
    libs=$(otool -L "$bin" | tail -n +2 | awk '{ print $1 }')
    echo "$libs" | grep -qE 'lib(ssl|crypto)' && bad "$bin links OpenSSL dynamically"
    # Only the system's libraries: anything from Homebrew or /usr/local is missing on a clean Mac.
    echo "$libs" | grep -vE '^(/usr/lib/|/System/Library/)' && bad "$bin links libraries outside the OS"
    [ "$fail" = 1 ] || echo "check-binary: $bin links only system libraries: $(echo "$libs" | tr '\n' ' ')"
    ;;
  *) bad "$bin is neither ELF nor Mach-O" ;;
esac
exit "$fail"
