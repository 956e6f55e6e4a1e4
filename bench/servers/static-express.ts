import express from 'express';

const app = express();
app.use(express.static(process.env.STATIC_ROOT!));
app.listen(Number(process.env.PORT), '127.0.0.1');
