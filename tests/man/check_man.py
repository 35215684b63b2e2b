#!/usr/bin/python3
"""The man sources (man/*.scd) name everything the reference docs and the
binaries name: every config key of docs/config.md in wsheartd.toml(5); every
verb and option of docs/cli.md and of `wsheartctl --help` in wsheartctl(1);
every option of `wsheartd --help` and every method, signal, property and
error of docs/dbus-api.md in wsheartd(8). A name counts when it is set in
bold (*name*) in the page's source.

Usage: check_man.py SOURCE_DIR WSHEARTD WSHEARTCTL
"""
import re
import subprocess
import sys
from pathlib import Path


def section(text, start_pattern):
    """The lines of the markdown section whose heading matches, up to the next heading of that level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+) ", line)
        if m and re.search(start_pattern, line):
            level = len(m.group(1))
            out = []
            for rest in lines[i + 1:]:
                m2 = re.match(r"^(#+) ", rest)
                if m2 and len(m2.group(1)) <= level:
                    break
                out.append(rest)
            return out
    raise SystemExit(f"check_man: no section matching {start_pattern!r}")


def first_column_names(lines):
    """`name` tokens in the first cell of the markdown table rows."""
    names = []
    for line in lines:
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1]
        names += re.findall(r"`([^`]+)`", cell)
    return names


def bold(scd):
    return set(re.findall(r"\*([^*\s][^*]*?)\*", scd))


def option_names(help_text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-h)\b", help_text))


def main():
    src, wsheartd, wsheartctl = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    docs = src / "docs"
    man = src / "man"
    missing = []

    def need(page, names, what):
        have = bold((man / page).read_text())
        for name in sorted(set(names)):
            if name not in have:
                missing.append(f"man/{page}: {what} '{name}' is not described (as *{name}*)")
        print(f"{page}: {len(set(names))} {what}s checked")

    # wsheartd.toml(5) <- docs/config.md
    config = (docs / "config.md").read_text()
    keys = first_column_names(section(config, r"^## `\[daemon\]`"))
    keys += first_column_names(section(config, r"^## User keys"))
    if len(keys) < 20:
        raise SystemExit(f"check_man: only {len(keys)} keys found in docs/config.md; has its layout changed?")
    need("wsheartd.toml.5.scd", keys, "config key")

    # wsheartctl(1) <- docs/cli.md and wsheartctl --help
    cli = (docs / "cli.md").read_text()
    verbs = re.findall(r"^### `([a-z]+)", cli, re.M)
    options = [o.split()[0] for o in first_column_names(section(cli, r"^## Options"))]
    help_ctl = subprocess.run([wsheartctl, "--help"], capture_output=True, text=True, check=True).stdout
    commands = section("# x\n" + help_ctl.replace("Commands:", "## Commands").replace("Options:", "## Options"),
                       r"^## Commands")
    help_verbs = [line.split()[0] for line in commands if line.startswith("  ")]
    if len(verbs) < 5 or len(options) < 5 or len(help_verbs) < 5:
        raise SystemExit("check_man: too few verbs or options found; has docs/cli.md or the help changed?")
    need("wsheartctl.1.scd", verbs + help_verbs, "verb")
    need("wsheartctl.1.scd", options + list(option_names(help_ctl)), "option")

    # wsheartd(8) <- wsheartd --help and docs/dbus-api.md
    help_d = subprocess.run([wsheartd, "--help"], capture_output=True, text=True, check=True).stdout
    need("wsheartd.8.scd", option_names(help_d), "option")
    api = (docs / "dbus-api.md").read_text()
    members = []
    for iface in (r"^## `org\.wsheartd1\.Manager`", r"^## `org\.wsheartd1\.User`"):
        members += [re.match(r"[A-Za-z]+", n).group(0) for n in first_column_names(section(api, iface))]
    errors = [n.rsplit(".", 1)[1] for n in first_column_names(section(api, r"^## Errors"))]
    if len(members) < 15 or len(errors) < 4:
        raise SystemExit("check_man: too few D-Bus members found; has docs/dbus-api.md changed?")
    # *org.wsheartd1.Error.InvalidConfig* counts for InvalidConfig.
    have8 = bold((man / "wsheartd.8.scd").read_text())
    have8 |= {b.rsplit(".", 1)[1] for b in have8 if b.startswith("org.wsheartd1.Error.")}
    for name in sorted(set(members + errors)):
        if name not in have8:
            missing.append(f"man/wsheartd.8.scd: D-Bus name '{name}' is not described (as *{name}*)")
    print(f"wsheartd.8.scd: {len(set(members + errors))} D-Bus names checked")

    for line in missing:
        print("FAIL: " + line)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
