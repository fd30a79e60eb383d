// Each test runs the command as a process that uses both cores; running them one at a time keeps every run's timing
// (and the Ctrl+C test's moment of interruption) the same on a busy machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
