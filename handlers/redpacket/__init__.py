"""The redpacket feature."""
