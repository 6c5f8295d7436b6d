// Integration tests start whole clusters, each on its own loopback subnet, ports and directory:
// two test classes run at a time (a 2-core machine runs two clusters comfortably; the suite's
// wall time nearly halves). Tests of one class run one after the other.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
