"""Alembic migrations, shipped inside the package so an installed `thidua` can migrate."""
