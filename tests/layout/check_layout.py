#!/usr/bin/python3
"""The layout's include rules (docs/development.md, "Layout"), checked on the
source tree. Exit 0 when they hold; otherwise one line per violation,
FILE:LINE: rule: #include ..., and exit 1.

  - daemon/supervisor/ is pure: no asio, websocketpp or sd-bus (sd-bus.h, sdbus-c++).
  - config/ includes nothing from daemon/.
  - cli/ uses only the bus API of daemon/: bus/names.hpp and the generated proxy.
  - websocketpp is included by daemon/transport/transport.cpp alone (and by
    tools/wsheart-echo/, the separate test server, which is not the daemon).

--self-test plants one violation of each rule in a copy of the tree and
fails unless every one is reported (so this check can fail).
"""
import os
import re
import shutil
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_SUFFIXES = ('.cpp', '.hpp', '.h', '.cc')
# Directories with our C++ code. build*/ and third-party trees are not ours.
CODE_DIRS = ('config', 'daemon', 'cli', 'tools', 'bench', 'tests')

WEBSOCKETPP_ALLOWED = {'daemon/transport/transport.cpp', 'tools/wsheart-echo/echo_server.cpp'}
CLI_MAY_USE = {'bus/names.hpp', 'wsheartd1-proxy.h'}


def sources(root):
    for top in CODE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('build'))
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    path = os.path.join(dirpath, name)
                    yield os.path.relpath(path, root).replace(os.sep, '/')


def includes(root, rel):
    with open(os.path.join(root, rel), encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, m.group(1), m.group(2)


def daemon_headers(root):
    """Every header below daemon/, by each path a quoted include could name it."""
    names = set()
    for rel in sources(root):
        if rel.startswith('daemon/') and rel.endswith(('.hpp', '.h')):
            parts = rel.split('/')[1:]
            for i in range(len(parts)):
                names.add('/'.join(parts[i:]))
    names.update({'wsheartd1-adaptor.h', 'wsheartd1-proxy.h'})  # generated from daemon/bus
    return names


def is_asio(name):
    return name == 'asio.hpp' or name.startswith('asio/')


def is_sd_bus(name):
    return name in ('systemd/sd-bus.h', 'systemd/sd-bus-vtable.h') or name.startswith('sdbus-c++/')


def check(root):
    problems = []
    from_daemon = daemon_headers(root)
    for rel in sources(root):
        for number, delimiter, name in includes(root, rel):
            where = f'{rel}:{number}'
            shown = f'#include {delimiter}{name}{">" if delimiter == "<" else chr(34)}'
            if name.startswith('websocketpp/') and rel not in WEBSOCKETPP_ALLOWED:
                problems.append(f'{where}: only daemon/transport/transport.cpp may include websocketpp: {shown}')
            if rel.startswith('daemon/supervisor/') and (is_asio(name) or is_sd_bus(name) or
                                                         name.startswith('websocketpp/')):
                problems.append(f'{where}: the supervisor is pure (no asio, websocketpp or sd-bus): {shown}')
            if delimiter == '"' and rel.startswith('config/') and name in from_daemon and \
                    not os.path.exists(os.path.join(root, os.path.dirname(rel), name)):
                problems.append(f'{where}: config/ may not include anything from daemon/: {shown}')
            if delimiter == '"' and rel.startswith('cli/') and name in from_daemon and name not in CLI_MAY_USE and \
                    not os.path.exists(os.path.join(root, 'cli', name)):
                problems.append(f'{where}: cli/ may use only bus/names.hpp and the generated proxy of daemon/: {shown}')
    return problems


PLANTED = [
    ('daemon/supervisor/layout_planted.cpp', '#include <asio/io_context.hpp>\n', 'the supervisor is pure'),
    ('daemon/supervisor/layout_planted2.cpp', '#include <systemd/sd-bus.h>\n', 'the supervisor is pure'),
    ('config/layout_planted.cpp', '#include "supervisor/supervisor.hpp"\n', 'config/ may not include'),
    ('cli/layout_planted.cpp', '#include "bus/bus_service.hpp"\n', 'cli/ may use only'),
    ('daemon/bus/layout_planted.cpp', '#include <websocketpp/client.hpp>\n', 'only daemon/transport/transport.cpp'),
]


def self_test(root):
    failures = 0
    with tempfile.TemporaryDirectory(prefix='wsheart-layout-') as scratch:
        copy = os.path.join(scratch, 'tree')
        for top in CODE_DIRS:
            shutil.copytree(os.path.join(root, top), os.path.join(copy, top),
                            ignore=shutil.ignore_patterns('build*'))
        if check(copy):
            print('self-test: the clean copy already has violations', file=sys.stderr)
            return 1
        for rel, text, rule in PLANTED:
            path = os.path.join(copy, rel)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
            found = check(copy)
            os.remove(path)
            if len(found) != 1 or rule not in found[0] or not found[0].startswith(rel + ':1:'):
                print(f'self-test: planted {text.strip()} in {rel}: expected one "{rule}" report, got {found}',
                      file=sys.stderr)
                failures += 1
            else:
                print(f'self-test: planted {text.strip()} in {rel}: reported')
    return 1 if failures else 0


def main(argv):
    args = [a for a in argv[1:] if a != '--self-test']
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), '..', '..'))
    if '--self-test' in argv:
        return self_test(root)
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f'{len(problems)} layout violation(s); the rules are in docs/development.md ("Layout")', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
