// Users come from the sign-up form; `profile` is optional.

export function displayName(user) {
  const nickname = user.profile?.nickname;
  return nickname || user.name;
}

export function greeting(user) {
  return `Welcome back, ${displayName(user)}!`;
}
