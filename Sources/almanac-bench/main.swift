import AlmanacBench

await AlmanacBenchMain.run()
