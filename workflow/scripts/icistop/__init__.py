"""icistop: statistics for the ICI-discontinuation workflow.

Plain functions that take and return pandas DataFrames; the Snakemake
scripts in ``workflow/scripts/`` are thin wrappers around this package.
Time is measured in months (days / ``DAYS_PER_MONTH``) unless a name says otherwise.
"""

__version__ = "0.1.0"

DAYS_PER_MONTH = 365.25 / 12  # 30.4375 days, the conventional average month
