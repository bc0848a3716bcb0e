// Package redisstore shares a quota.RuleLimiter's state between processes
// (on one machine or many) through Redis, so that they together keep one
// project's quotas:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	lim, err := quota.New(quota.WithStore(redisstore.New(rdb, "gws")))
//
// It is a package of its own so that programs that keep their quotas in
// memory do not link the Redis client.
//
// The store keeps rates (GCRA timestamps, the algorithm of
// go-redis/redis_rate, on one key per rule and scope key), daily counters
// (keys per Pacific date, expiring an hour after the reset) and concurrency
// leases (sorted sets scored by expiry, refreshed every third of the lease
// TTL while held, so a crashed worker's slot frees itself after at most the
// TTL) in Redis. Each acquisition is one round trip: a Lua script checks
// every rule of the call and commits to all of them or to none. Keys are
// prefix:r:RULE:KEY (rates), prefix:d:RULE:KEY:YYYYMMDD (daily budgets) and
// prefix:c:RULE:KEY (concurrency), the same as those of the former quota.RedisStore,
// which this package replaces: processes of either version can share a
// Redis.
//
// Adaptive state stays per process: each process measures the server on
// its own answers and charges its calls to the shared GCRA state at its own
// adapted rate, so processes sharing a throttled scope together send at a
// mix of their rates (never above the highest), and each slows down on the
// throttles it sees. The adapted rate itself is not shared through Redis,
// and neither are Retry-After pauses.
//
// With Redis Cluster, every key of one acquisition must hash to one slot:
// use a hash-tag prefix such as "{gws}".
package redisstore
