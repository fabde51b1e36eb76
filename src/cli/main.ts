// The command line (see issue "Scoring engine and command line").
process.stderr.write("perplexity-lens: not built yet\n");
process.exitCode = 1;
