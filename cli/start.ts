// `npm start`: brings up the local multi-host cluster and a demo service.
// The cluster and the services are not built yet; until they are, say so plainly.
process.stdout.write(
  'shoal: the local multi-host cluster is not built yet.\n' +
    'What works today: the Raft library (manager/raft) and its tests (`npm test`),\n' +
    'and its benchmark against etcd (`npm run bench:raft`).\n',
);
