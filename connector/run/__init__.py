"""Where the stages meet and writes happen: prepare (read, check, map), sync (plan and
apply one source), apply (the only writer), job (a configured run: file, drop folder or
HR API), tenant (Graph or the sandbox), history (provisioning log, run reports,
retention), the run lock and log lines."""
