h=w.hearth||(()=>0);
w.plausible=h;
w.umami={track:(m,o)=>h(typeof m=="string"?m:"pageview",{props:o}),identify:()=>0};
w.goatcounter={count:o=>h((o=o||{}).event?o.path:"pageview")};
for(r of q)h(...r);
for(r of["click","auxclick"])d.addEventListener(r,c,{capture:!0,passive:!0})
}(window,document,document.currentScript,location);
