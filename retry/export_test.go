package retry

// Methods is the repeat table, for the tests of package retry_test.
var Methods = methods
