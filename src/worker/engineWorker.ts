// The engine worker (see issue "Scoring engine and command line").
export {};
