"""The setup pages (Flask-Admin views), one module per area."""
