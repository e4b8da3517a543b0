"""The slapgate node agent (node_twisted) against a started master."""
