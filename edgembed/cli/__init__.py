"""The click command line. Thin: parse, build a config, call a library function."""
