"""``python -m pipelines`` runs the ``relance`` command line."""

from pipelines.cli import main

if __name__ == "__main__":
    main()
