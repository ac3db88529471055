"""The app shell: the command line, one module per command group, assembly, the service, the demo."""
