"""The embedded HTTP server shared by the controller and the emulator, and what the controller serves."""
