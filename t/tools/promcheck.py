#!/usr/bin/env python3
"""Strict checker of the Prometheus text exposition format 0.0.4 (promtool is
not packaged small enough to pull in). Reads a page from a file or stdin;
exit 0 if it is valid, 1 with one line per problem if not.
  promcheck.py [--require NAME,...] [FILE]
--require: each NAME must be a family on the page (for DESIGN section 9)."""
import math
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')
VALUE_RE = re.compile(r'^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$')
SAMPLE_RE = re.compile(r'^(' + NAME + r')(\{.*\})?[ ](\S+)(?:[ ](-?\d+))?$')


def parse_value(text):
    if not VALUE_RE.match(text):
        raise ValueError('bad value %r' % text)
    return float(text.replace('Inf', 'inf').replace('NaN', 'nan'))


def parse_labels(text):
    """{a="x",b="y"} -> [(a, x), (b, y)], strictly: escapes \\\\ \\" \\n only."""
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        m = re.match(LABEL, body[i:])
        if not m:
            raise ValueError('bad label name at %r' % body[i:])
        name = m.group(0)
        i += len(name)
        if body[i:i + 2] != '="':
            raise ValueError('label %s: expected ="' % name)
        i += 2
        val = []
        while True:
            if i >= len(body):
                raise ValueError('label %s: unterminated value' % name)
            c = body[i]
            if c == '\\':
                nxt = body[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    raise ValueError('label %s: bad escape \\%s' % (name, nxt))
                val.append('\n' if nxt == 'n' else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                raise ValueError('label %s: raw newline' % name)
            else:
                val.append(c)
                i += 1
        if any(n == name for n, _ in out):
            raise ValueError('label %s repeated' % name)
        out.append((name, ''.join(val)))
        if i < len(body):
            if body[i] != ',' or i + 1 == len(body):
                raise ValueError('expected "," between labels')
            i += 1
    return out


class Family:
    def __init__(self, name):
        self.name, self.type, self.help, self.samples = name, None, None, []


def family_of(name, families):
    """The family a sample belongs to (histogram suffixes included)."""
    for suf in ('_bucket', '_sum', '_count'):
        base = name[:-len(suf)] if name.endswith(suf) else None
        if base and base in families and families[base].type in ('histogram', 'summary'):
            return base
    return name


def check_histogram(fam, errors):
    series = {}
    for name, labels, value in fam.samples:
        key = tuple(sorted((k, v) for k, v in labels if k != 'le'))
        s = series.setdefault(key, {'buckets': [], 'sum': None, 'count': None})
        if name == fam.name + '_bucket':
            le = dict(labels).get('le')
            if le is None:
                errors.append('%s: bucket without le' % fam.name)
                continue
            try:
                s['buckets'].append((parse_value(le), value))
            except ValueError:
                errors.append('%s: bad le %r' % (fam.name, le))
        elif name == fam.name + '_sum':
            s['sum'] = value
        elif name == fam.name + '_count':
            s['count'] = value
        else:
            errors.append('%s: sample %s in a histogram' % (fam.name, name))
    for key, s in series.items():
        b = s['buckets']
        les = [le for le, _ in b]
        if les != sorted(les) or len(set(les)) != len(les):
            errors.append('%s%s: le not strictly increasing' % (fam.name, key))
        if not b or not math.isinf(les[-1]):
            errors.append('%s%s: no le="+Inf" bucket' % (fam.name, key))
        counts = [v for _, v in b]
        if any(y < x for x, y in zip(counts, counts[1:])):
            errors.append('%s%s: buckets not cumulative' % (fam.name, key))
        if s['count'] is None or s['sum'] is None:
            errors.append('%s%s: _sum or _count missing' % (fam.name, key))
        elif b and counts[-1] != s['count']:
            errors.append('%s%s: +Inf bucket %g != _count %g' % (fam.name, key, counts[-1],
                                                                   s['count']))


def check(text, require=()):
    errors, families, order, seen = [], {}, [], set()
    if text and not text.endswith('\n'):
        errors.append('the page does not end with a newline')
    current = None
    for no, line in enumerate(text.split('\n')[:-1] if text else [], 1):
        where = 'line %d' % no
        if line.startswith('#'):
            m = re.match(r'^# (HELP|TYPE) (' + NAME + r')(?: (.*))?$', line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ''
            fam = families.get(name)
            if fam is None:
                fam = families[name] = Family(name)
                order.append(name)
            elif fam.samples:
                errors.append('%s: %s for %s after its samples' % (where, kind, name))
            if kind == 'TYPE':
                if fam.type is not None:
                    errors.append('%s: second TYPE for %s' % (where, name))
                if rest not in TYPES:
                    errors.append('%s: unknown type %r' % (where, rest))
                fam.type = rest
            else:
                if fam.help is not None:
                    errors.append('%s: second HELP for %s' % (where, name))
                if re.search(r'\\[^\\n]', rest.replace('\\\\', '')):
                    errors.append('%s: bad escape in HELP' % where)
                fam.help = rest
            current = name
            continue
        if not line.strip():
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            errors.append('%s: not a sample: %r' % (where, line))
            continue
        name, ltext, vtext = m.group(1), m.group(2), m.group(3)
        try:
            labels = parse_labels(ltext) if ltext else []
            value = parse_value(vtext)
        except ValueError as e:
            errors.append('%s: %s' % (where, e))
            continue
        fname = family_of(name, families)
        if fname not in families:
            families[fname] = Family(fname)
            order.append(fname)
        elif fname != current and families[fname].samples:
            errors.append('%s: samples of %s are not together' % (where, fname))
        current = fname
        key = (name, tuple(sorted(labels)))
        if key in seen:
            errors.append('%s: series %s%s repeated' % (where, name, ltext or ''))
        seen.add(key)
        fam = families[fname]
        if fam.type == 'counter' and (math.isnan(value) or value < 0):
            errors.append('%s: counter %s is %s' % (where, name, vtext))
        fam.samples.append((name, labels, value))
    for name in order:
        fam = families[name]
        if fam.type == 'histogram':
            check_histogram(fam, errors)
        if fam.type in (None, 'untyped') and fam.help is None and not fam.samples:
            errors.append('%s: empty family' % name)
    for name in require:
        if name not in families or not families[name].samples:
            errors.append('required metric %s missing' % name)
    return errors


def main(argv):
    require = []
    if len(argv) > 2 and argv[1] == '--require':
        require = [n for n in argv[2].split(',') if n]
        argv = argv[:1] + argv[3:]
    text = open(argv[1]).read() if len(argv) > 1 else sys.stdin.read()
    errors = check(text, require)
    for e in errors:
        print('promcheck: ' + e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
