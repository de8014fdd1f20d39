#!/bin/sh
# Stub coverage tool: the real one is not available offline.
echo "remote_coverage_tools stub: coverage merging/reporting is not available offline" >&2
exit 0
