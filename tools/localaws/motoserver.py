# moto_server as the local AWS of the tests and the local stack (localaws.StartMoto runs it with the
# Python interpreter that runs moto_server). Where moto 5 does not behave as AWS documents, it is
# made to; each change is proven in moto_test.go against the documented behaviour.
#
# 1. DynamoDB requests run one at a time. moto_server gives every request a thread and its DynamoDB
#    backend takes no lock: a conditional write reads, evaluates, then writes, and another thread can
#    write in between, so two conditional claims of one key could both succeed.
# 2. TransactWriteItems checks every condition first and writes only when all pass. moto deep-copies
#    each table it touches and, when a condition fails, puts the copies back: every write another
#    thread made meanwhile is erased, and each copy costs O(table).
# 3. TransactWriteItems honours ClientRequestToken: for 10 minutes after a transaction with a token
#    succeeded, the same request with the same token succeeds again without writing, and the token
#    with other parameters is refused with IdempotentParameterMismatchException. moto ignores the
#    token, so an attempt the SDK gave up on, executed late, wrote a second time.
# 4. EventBridge compiles each JSONPath of a target's input once, not for every event and target
#    (moto builds a parser per path, about 10 ms each: 80 ms per rule an event matches).
import collections
import functools
import io
import json
import os
import sys
import threading
import time

import jsonpath_ng.ext
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

# 4. moto imports parse from jsonpath_ng.ext inside the function that uses it, so it finds this one.
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)


# 2.
def transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen, ops, reasons = set(), [], []
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
        if cond is not None and not get_filter_expression(
            cond, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current):
            old = None
            if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                old = current.to_json()["Attributes"]
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            reasons.append((None, None, None))
    if any(code for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    for op_type, op, key in ops:
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            self.delete_item(op["TableName"], key)
        elif op_type == "Update":
            self.update_item(
                op["TableName"],
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=op.get("ExpressionAttributeNames"),
                expression_attribute_values=op.get("ExpressionAttributeValues"),
            )


DynamoDBBackend.transact_write_items = transact_write_items

# 3. token -> (the request's other parameters, when it succeeded, the answer it got), oldest first,
# so that the lapsed ones are dropped from the front instead of by a scan of every token.
TOKEN_WINDOW_SECONDS = 600
tokens = collections.OrderedDict()


def idempotent_transaction(app, environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        params = json.loads(body)
    except ValueError:
        params = None
    token = params.pop("ClientRequestToken", None) if isinstance(params, dict) else None
    if token is None:
        return list(app(environ, start_response))
    now = time.monotonic()
    while tokens and now - next(iter(tokens.values()))[1] > TOKEN_WINDOW_SECONDS:
        tokens.popitem(last=False)
    if token in tokens:
        first, _, (status, headers, answer) = tokens[token]
        if first != params:
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
            error = {
                "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                "message": "The request uses the same client token as a previous, but non-identical request.",
            }
            return [json.dumps(error).encode()]
        start_response(status, headers)
        return [answer]
    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return start_response(status, headers, exc_info)

    answer = b"".join(app(environ, capture))
    if captured.get("status", "").startswith("200"):
        tokens[token] = (params, now, (captured["status"], captured["headers"], answer))
    return [answer]


# 1.
def main():
    host, port = "127.0.0.1", 5000
    args = sys.argv[1:]
    for i, a in enumerate(args[:-1]):
        if a in ("-H", "--host"):
            host = args[i + 1]
        if a in ("-p", "--port"):
            port = int(args[i + 1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server's own main sets it
    lock = threading.Lock()

    def serve(environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB"):
            return app(environ, start_response)
        with lock:
            if target.endswith(".TransactWriteItems"):
                return idempotent_transaction(app, environ, start_response)
            return list(app(environ, start_response))

    run_simple(host, port, serve, threaded=True)


main()
