"""pex_config machinery shared by the tasks: what the Rubin stack's users' files expect.

- `paths`: config paths as override files write them (``a.b['AL'].name``),
  read and set from text, one rule for every ``-c NAME=VALUE``;
- `override_file`: override files run statement by statement, so that every
  failing statement is reported with its ``file:line`` in one go;
- `stack_imports`: the stack's module names (``lsst.ip.diffim``, ...)
  resolving to this package's classes while an override file runs;
- `aliases`: a legacy field path that is another path of the same config,
  written through both ways and saved under the legacy name;
- `not_applied`: settings a config accepts but a task does not apply, one
  line each.
"""
