"""Plain-text tables for the instructor scripts' printed reports."""


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """One line per row, every column but the last padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)] + [0]
    return ["  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)).rstrip() for row in rows]
