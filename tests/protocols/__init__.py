"""The adaptors: each wire format against a started master, and the docs of each face."""
