// Defaults shared by the seed sweep and the replay command, so a printed command replays exactly.
export const DEFAULT_DURATION = 4000;
