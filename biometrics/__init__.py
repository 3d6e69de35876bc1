"""Camera capture, face verification, image quality and liveness."""
