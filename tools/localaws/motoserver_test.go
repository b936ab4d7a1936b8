package localaws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// The local AWS (motoserver.py) against what DynamoDB documents, beside a plain moto_server that
// shows why each change exists: when plain moto starts to behave, its row fails, and the change
// in motoserver.py can go.

var servers struct {
	once         sync.Once
	local, plain *Moto
	err          error
}

func TestMain(m *testing.M) {
	code := m.Run()
	servers.local.Stop()
	servers.plain.Stop()
	os.Exit(code)
}

// configs starts, once, a plain moto_server and the local AWS, and returns an SDK configuration
// for each.
func configs(tb testing.TB) (local, plain aws.Config) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs moto_server: make test runs it")
	}
	servers.once.Do(func() {
		os.Setenv("MOTO_SERVER", "moto_server")
		servers.plain, servers.err = StartMoto()
		os.Unsetenv("MOTO_SERVER")
		if servers.err == nil {
			servers.local, servers.err = StartMoto()
		}
	})
	if servers.err != nil {
		tb.Fatal(servers.err)
	}
	config := func(m *Moto) aws.Config {
		cfg, err := Config(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		cfg.BaseEndpoint = aws.String(m.Endpoint)
		return cfg
	}
	return config(servers.local), config(servers.plain)
}

// dynamoDBs is a DynamoDB client of each.
func dynamoDBs(t *testing.T) (local, plain *dynamodb.Client) {
	l, p := configs(t)
	return dynamodb.NewFromConfig(l), dynamodb.NewFromConfig(p)
}

// table creates a table keyed by the string "id" and returns its name.
func table(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	name := unique("table")
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            &name,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func item(id string, v int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}, "v": &types.AttributeValueMemberN{Value: fmt.Sprint(v)}}
}

// bulky is an item of many attributes: slow for moto to copy.
func bulky(id string) map[string]types.AttributeValue {
	list := make([]types.AttributeValue, 100)
	for i := range list {
		list[i] = &types.AttributeValueMemberN{Value: fmt.Sprint(i)}
	}
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}, "list": &types.AttributeValueMemberL{Value: list}}
}

func exists(t *testing.T, db *dynamodb.Client, table, id string) bool {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item != nil
}

// DynamoDB: "TransactWriteItems is a synchronous write operation that groups up to 100 action
// requests... The actions are completed atomically so that either all of them succeed, or all of
// them fail." A cancelled transaction changes nothing, including what other requests wrote while
// it ran. Plain moto deep-copies each table the transaction touches and puts the copies back when
// a condition fails: a write that lands while a large table is being copied is erased.
func TestACancelledTransactionNeverErasesAConcurrentWrite(t *testing.T) {
	local, plain := dynamoDBs(t)
	for _, tc := range []struct {
		name     string
		db       *dynamodb.Client
		wantLost bool
	}{
		{"local AWS", local, false},
		{"plain moto_server (why motoserver.py checks conditions before writing)", plain, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			small, large := table(t, tc.db), table(t, tc.db)
			// The large table makes plain moto's copy slow enough for writes to land during it.
			for b := range 100 {
				var reqs []types.WriteRequest
				for i := range 25 {
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: bulky(fmt.Sprintf("big-%d-%d", b, i))}})
				}
				if _, err := tc.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{large: reqs}}); err != nil {
					t.Fatal(err)
				}
			}
			// Writes to the small table go on while the transaction runs; those answered before
			// it was must all survive its cancellation.
			stop, written := make(chan struct{}), make(chan []string)
			go func() {
				var ids []string
				for i := 0; ; i++ {
					select {
					case <-stop:
						written <- ids
						return
					default:
					}
					id := fmt.Sprintf("concurrent-%d", i)
					if _, err := tc.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &small, Item: item(id, i)}); err == nil {
						ids = append(ids, id)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			time.Sleep(20 * time.Millisecond)
			_, err := tc.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: &small, Item: item("tx", 1)}},
				{Put: &types.Put{TableName: &large, Item: item("big-0-0", 2), ConditionExpression: aws.String("attribute_not_exists(id)")}},
			}})
			close(stop)
			ids := <-written
			var tce *types.TransactionCanceledException
			if !errors.As(err, &tce) {
				t.Fatalf("the transaction whose condition fails: %v, want TransactionCanceledException", err)
			}
			if exists(t, tc.db, small, "tx") {
				t.Error("the cancelled transaction wrote its other item")
			}
			lost := 0
			for _, id := range ids {
				if !exists(t, tc.db, small, id) {
					lost++
				}
			}
			t.Logf("%d concurrent writes answered, %d lost", len(ids), lost)
			if (lost > 0) != tc.wantLost {
				t.Errorf("%d of %d concurrent writes lost, want lost: %v", lost, len(ids), tc.wantLost)
			}
		})
	}
}

// DynamoDB: "Providing a ClientRequestToken makes the call to TransactWriteItems idempotent...
// A client request token is valid for 10 minutes after the first request that uses it is
// completed... If you submit a request with the same client token but a change in other
// parameters within the 10-minute idempotency window, DynamoDB returns an
// IdempotentParameterMismatch exception." The SDK sends one token for all attempts of a call, so
// a late attempt of a transaction that succeeded changes nothing.
func TestATransactionsClientRequestTokenMakesItIdempotent(t *testing.T) {
	local, plain := dynamoDBs(t)
	ctx := context.Background()
	put := func(table, token string, v int) *dynamodb.TransactWriteItemsInput {
		return &dynamodb.TransactWriteItemsInput{ClientRequestToken: &token, TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &table, Item: item("k", v), ConditionExpression: aws.String("attribute_not_exists(id) OR v < :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(v)}}}},
		}}
	}
	var tce *types.TransactionCanceledException
	var mismatch *types.IdempotentParameterMismatchException
	for _, tc := range []struct {
		name string
		db   *dynamodb.Client
		// again is the same request, token and all, sent after the item was changed to v=5.
		againSucceedsUnchanged bool
	}{
		{"local AWS", local, true},
		{"plain moto_server (why motoserver.py honours the token)", plain, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := table(t, tc.db)
			if _, err := tc.db.TransactWriteItems(ctx, put(tbl, "token-1", 3)); err != nil {
				t.Fatal(err)
			}
			// Another writer moves the item on; a late copy of the first call must not undo it.
			if _, err := tc.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &tbl, Item: item("k", 1)}); err != nil {
				t.Fatal(err)
			}
			_, err := tc.db.TransactWriteItems(ctx, put(tbl, "token-1", 3))
			got, _ := tc.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &tbl, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "k"}}, ConsistentRead: aws.Bool(true)})
			unchanged := got.Item["v"].(*types.AttributeValueMemberN).Value == "1"
			if (err == nil && unchanged) != tc.againSucceedsUnchanged {
				t.Errorf("the same transaction and token again: error %v, item unchanged %v; want success without a write: %v", err, unchanged, tc.againSucceedsUnchanged)
			}
			if !tc.againSucceedsUnchanged {
				return
			}
			if _, err := tc.db.TransactWriteItems(ctx, put(tbl, "token-1", 4)); !errors.As(err, &mismatch) {
				t.Errorf("the token with other parameters: %v, want IdempotentParameterMismatchException", err)
			}
			if _, err := tc.db.TransactWriteItems(ctx, put(tbl, "token-2", 2)); err != nil {
				t.Errorf("another token is a new request: %v", err)
			}
			if _, err := tc.db.TransactWriteItems(ctx, put(tbl, "token-3", 2)); !errors.As(err, &tce) {
				t.Errorf("a new request whose condition fails: %v, want TransactionCanceledException", err)
			}
		})
	}
}

// PutEvents of two events that five rules with queue targets match: each matching rule cost plain
// moto about 80 ms (eight JSONPath parsers built per event and target), so a delivery's PutEvents
// outlasted the functions' 1 s attempt timeout on a busy machine. Report: the ratio of the two
// sub-benchmarks' ns/op, measured in the same run.
func BenchmarkPutEventsMatchingFiveRules(b *testing.B) {
	local, plain := configs(b)
	for _, tc := range []struct {
		name string
		cfg  aws.Config
	}{{"local AWS", local}, {"plain moto_server", plain}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			bus, err := CreateBus(ctx, tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			for range 5 {
				if _, err := RouteToQueue(ctx, tc.cfg, bus, `{"source":["bench"]}`); err != nil {
					b.Fatal(err)
				}
			}
			eb := eventbridge.NewFromConfig(tc.cfg)
			entry := ebtypes.PutEventsRequestEntry{EventBusName: &bus, Source: aws.String("bench"), DetailType: aws.String("Bench"), Detail: aws.String(`{"metadata":{"idempotencyKey":"k"}}`)}
			in := &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry, entry}}
			for b.Loop() {
				if _, err := eb.PutEvents(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
