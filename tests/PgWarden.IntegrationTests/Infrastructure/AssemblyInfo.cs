// Integration tests start whole clusters; on a 2-core machine they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
