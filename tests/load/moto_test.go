package load

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// moto_server handles each request on its own thread and its DynamoDB backend takes no lock: a
// conditional PutItem reads the current item, evaluates the condition, then writes, and another
// thread's PutItem on the same key can run in between. Both then succeed, which DynamoDB never
// allows. Measured here with idempotency.Store.Claim itself, 32 pairs of concurrent claims of one
// key in flight: both claims of 2 keys in 4,000 succeeded; in a first run of this load test, one
// Amazon Pay message out of ~1,000 concurrent duplicate pairs was accepted (and published) twice.
// That is moto's fault, not the gateway's, and failed that run.
//
// serializedMoto is a moto_server that runs one DynamoDB request at a time (a lock around moto's
// WSGI application for DynamoDB targets; connections are still accepted and parsed concurrently,
// other services are not held up), so every DynamoDB call is atomic, as each item write of
// DynamoDB is. With it the 4,000 pairs above gave no double claim. moto is bound to one core by
// the GIL anyway: the load test ran as fast with it as without (143 s and 158 s of sending, run
// to run noise). localaws.StartMoto runs it through its MOTO_SERVER override.
//
// moto's TransactWriteItems also deep-copies every table it touches, to roll back on a cancelled
// transaction: O(table) per call, 0.3 s once the idempotency table holds this test's 10,000
// keys, where DynamoDB takes milliseconds. One request at a time, the conditions can be checked
// first and the writes made only when all pass, which needs no copy: serializedMoto does that.
const serializedMoto = `
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (MultipleTransactionsException, TooManyTransactionsException,
    TransactionCanceledException, TransactWriteSingleOpException)

def transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen, ops, errors = set(), [], []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        table = self.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        unique = (op["TableName"], str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        ops.append((op_type, op, key))
        current = self.get_item(op["TableName"], key)
        cond = op.get("ConditionExpression")
        if cond is not None and not get_filter_expression(cond, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")).expr(current):
            old = current.to_json()["Attributes"] if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            errors.append((None, None, None))
    if any(code for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in ops:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            self.delete_item(op["TableName"], key)
        elif op_type == "Update":
            self.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                expression_attribute_names=names, expression_attribute_values=values)

DynamoDBBackend.transact_write_items = transact_write_items

host, port = "127.0.0.1", 5000
args = sys.argv[1:]
for i, a in enumerate(args[:-1]):
    if a in ("-H", "--host"):
        host = args[i + 1]
    if a in ("-p", "--port"):
        port = int(args[i + 1])
os.environ.setdefault("MOTO_PORT", str(port))

app = DomainDispatcherApplication(create_backend_app)
app.debug = True
lock = threading.Lock()

def serialized(environ, start_response):
    if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        return app(environ, start_response)
    with lock:
        return list(app(environ, start_response))

run_simple(host, port, serialized, threaded=True)
`

// useSerializedMoto points localaws.StartMoto at serializedMoto, run by the Python interpreter
// that runs moto_server, unless MOTO_SERVER already names a server. It returns a description for
// the test log, whether it did, and what undoes it once moto_server runs.
func useSerializedMoto() (mode string, serialized bool, restore func()) {
	if s := os.Getenv("MOTO_SERVER"); s != "" {
		return "MOTO_SERVER=" + s + " as set: conditional writes may not be atomic", false, func() {}
	}
	dir, err := os.MkdirTemp("", "load-moto-")
	if err != nil {
		return "moto_server, unserialized (" + err.Error() + "): conditional writes may not be atomic", false, func() {}
	}
	script := filepath.Join(dir, "moto_server_serialized")
	python := motoPython()
	wrapper := "#!/bin/sh\nexec " + shellQuote(python) + " -c " + shellQuote(serializedMoto) + " \"$@\"\n"
	if err := os.WriteFile(script, []byte(wrapper), 0o755); err != nil {
		os.RemoveAll(dir)
		return "moto_server, unserialized (" + err.Error() + "): conditional writes may not be atomic", false, func() {}
	}
	os.Setenv("MOTO_SERVER", script)
	return "moto_server run by " + python + ", one DynamoDB request at a time", true, func() {
		os.Unsetenv("MOTO_SERVER")
		os.RemoveAll(dir)
	}
}

// motoPython is the interpreter named by moto_server's "#!" line, or python3 when moto_server is
// a wrapper (a pyenv shim) or missing.
func motoPython() string {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "python3"
	}
	f, err := os.Open(path)
	if err != nil {
		return "python3"
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	interp, ok := strings.CutPrefix(strings.TrimSpace(line), "#!")
	if !ok || strings.ContainsAny(interp, " \t") || !strings.Contains(filepath.Base(interp), "python") {
		return "python3"
	}
	return interp
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
