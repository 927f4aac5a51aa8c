import { greeting } from './src/users.js';

const users = [
  { name: 'Ada Lovelace', profile: { nickname: 'ada' } },
  { name: 'Grace Hopper' },
];

for (const user of users) console.log(greeting(user));
