"""The pure core: records, validation, the plan and its safety checks, run results, the
clock. Nothing here does I/O or imports a stage that does (``make test`` checks it with
import-linter); the stages around it hand it data and act on what it returns.
"""
