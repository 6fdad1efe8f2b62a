package rt

// ExampleTasks are tasks of example_test.go (package rt_test) that the
// test binary serves in its worker processes.
var ExampleTasks []Task
