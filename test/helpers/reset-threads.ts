// Runs before every test file (jest.config.js, setupFilesAfterEnv). A jest worker keeps the
// addon, and with it LibTorch's process-wide thread count, from one test file to the next:
// a count set by one file (setNumThreads, train({ threads })) would carry into whichever file
// the worker runs next. Every file starts from the same count instead: one thread per core.
import * as os from 'node:os';
import { setNumThreads } from '../../lib';

setNumThreads(os.availableParallelism());
