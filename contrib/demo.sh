#!/bin/sh
# The end-to-end demo: the whole system in network namespaces. It needs the
# daemons (basenoded, supernoded, exitpeerd, clientd), which are not built yet;
# until they are, say so plainly instead of pretending.
O=${O:-build}
for p in basenoded supernoded exitpeerd clientd wgrelay natctl; do
	if [ ! -x "$O/bin/$p" ]; then
		echo "demo: $p is not built yet; the demo needs all six programs." >&2
		echo "demo: today you can run 'make check' to see the helpers and lib/ tested." >&2
		exit 111
	fi
done
echo "demo: all programs are built, but the demo topology script has not landed yet." >&2
exit 111
