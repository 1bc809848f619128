/*
 * merge.h - loadgen merge FILE...: several runs' JSON reports as one
 * (see merge.c).
 */
#ifndef MERGE_H
#define MERGE_H

/* argv[0] is "merge"; returns the exit status (2: a usage error, a report
 * that cannot be read, runs that do not belong together). */
int merge_main(int argc, char **argv);

#endif
