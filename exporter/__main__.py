from .cli import main

# Guarded: worker processes (spawned for --jobs) import the main module again.
if __name__ == "__main__":
    main(prog_name="exporter")
