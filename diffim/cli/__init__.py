"""The ``diffim`` command line: thin subcommands that parse, call and print."""
